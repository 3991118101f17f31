"""Course assignments: exercises built with otter-grader, graded offline, and a shareable model cache.

* :mod:`.builder`  exercise sources (``course/source/<work>/*.ipynb``, otter assign format) -> student
  notebooks and autograder archives in ``course/build/<exercise>/`` (``genxai course build``);
* :mod:`.grader`   ``otter run`` on a submission, score JSON and CSV (``genxai course grade``);
* :mod:`.cache_share`  ``genxai cache export`` / ``genxai cache import``: trained checkpoints as one
  verified archive, so a class runs every notebook warm from an instructor's cache;
* :mod:`.cli`      the sub-commands.

otter-grader is the optional extra ``course`` (``pip install -e .[course]``); the cache archive needs
only the core dependencies.  The instructor guide is ``docs/course.md``.
"""

from .builder import CourseError, Exercise, build, build_exercise, discover  # noqa: F401
