"""Where everything lives on disk (``layout``) and the one checkpoint format (``checkpoint``).

Every other module asks here for a path or a file format; nothing else builds them.
"""
