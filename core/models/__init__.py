"""Networks: the Decision Transformer actor and the twin critic. Built from configs and dimensions only."""
