"""Scoring one mention. PURE.

- `vader`: VADER 3.3.2's scores, the same bit for bit, faster;
- `triage`: VADER plus the customer-care signals it lacks, as learned weights
  (`data/triage_weights.json`, derived by `tools/derive_triage_weights.py`);
- `enrich`: author type, risk, cues, sentiment, the 0–100 score and its priority;
- `routing`: the rules file's rules, top to bottom, applied to one scored mention.

May import `bot.domain` only (see `bot.domain`).
"""
