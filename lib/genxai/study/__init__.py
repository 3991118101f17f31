"""The user study of StylEx-like explanations, run by anyone on their own attributes.

* :mod:`~genxai.study.items`: the JSON spec + GIFs, the questions built from them, each participant's order;
* :mod:`~genxai.study.make_items`: writing items from any generator (:mod:`~genxai.study.demo`: a toy one);
* :mod:`~genxai.study.storage`: SQLite that never loses a committed answer;
* :mod:`~genxai.study.tokens`: signed participant tokens, the admin token;
* :mod:`~genxai.study.app`: the Starlette web app (optional extra ``study``);
* :mod:`~genxai.study.export`: the responses CSV;  :mod:`~genxai.study.analysis`: Table 2, distinctness,
  the machine observer;
* :mod:`~genxai.study.cli`: ``genxai study serve|export|analyse|demo-items``.

See docs/study.md for running a study with real participants.
"""
