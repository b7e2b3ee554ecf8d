"""`socialbot tune`: `proposals` (pure: rule changes from corrections, each replayed on the
stored history), `history` (reads that history), `patch` (edits a copy of the rules file as
text, comments kept), `report` (the command: print, JSON, `--write`)."""
