"""``python -m lstm_lessons``: the same as the ``lstm-lessons`` command."""

from lstm_lessons.cli import main

raise SystemExit(main())
