# The recipe's alignment weight per task (session 10's choices on seed 0's validation), for both halves of s15:
# `gpu.sh` on a lent GPU and `run.sh pair` on the CPU must train the same models.
declare -A ETA=([hopper]=1 [walker2d]=5)
