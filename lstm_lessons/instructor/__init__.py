"""The instructors' side: ``lstm-lessons grade`` executes hand-ins headlessly and grades them.

- :mod:`~lstm_lessons.instructor.grader`: :class:`Grader` and :func:`grade`, the whole run;
- :mod:`~lstm_lessons.instructor.submissions`: hand-ins, their identifiers and the clean copy executed;
- :mod:`~lstm_lessons.instructor.execution`: one hand-in or one check run under the limits, and
  the grader's runners behind one interface (``Runner``): this machine's threads (``LocalRunner``);
- :mod:`~lstm_lessons.instructor.cluster`: the same as tasks of a Dask cluster (``ClusterRunner``);
- :mod:`~lstm_lessons.instructor.certificates`: the cluster's TLS certificates;
- :mod:`~lstm_lessons.instructor.confinement`: a hand-in's cgroup (memory, processes);
- :mod:`~lstm_lessons.instructor.limits`: a child process under a wall-clock and a memory limit;
- :mod:`~lstm_lessons.instructor.sandbox`: the bubblewrap sandbox a hand-in's kernel runs in;
- :mod:`~lstm_lessons.instructor.sandbox_check`: ``--check-sandbox``, the sandbox's self-test;
- :mod:`~lstm_lessons.instructor.worker`: the child process that executes a hand-in or checks an answer;
- :mod:`~lstm_lessons.instructor.integrity`: the copy of the package the grader restores;
- :mod:`~lstm_lessons.instructor.report`: ``grades.csv``, ``results.json`` and the feedback pages;
- :mod:`~lstm_lessons.instructor.solutions`: the reference solutions (``solutions/``);
- :mod:`~lstm_lessons.instructor.roster`: a class's roster, and whose hand-in is which;
- :mod:`~lstm_lessons.instructor.course`: a class's hand-ins of several lessons graded into one
  gradebook (``lstm-lessons grade HAND_INS --roster roster.csv``);
- :mod:`~lstm_lessons.instructor.lms`: the gradebook as Canvas and Moodle import files;
- :mod:`~lstm_lessons.instructor.similarity`: hand-ins whose own code is unusually similar.

The exercises themselves and ``ll.grading.check`` are the students' side, :mod:`lstm_lessons.grading`.
"""

from __future__ import annotations

from lstm_lessons.instructor.grader import Grader, GradingError, default_workers, grade
from lstm_lessons.instructor.solutions import SOLUTIONS_DIR, exercise_cells, load_solution, solution_notebook

__all__ = ["SOLUTIONS_DIR", "Grader", "GradingError", "default_workers", "exercise_cells", "grade",
           "load_solution", "solution_notebook"]
