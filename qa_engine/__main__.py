"""Lets ``python -m qa_engine`` run the command line."""

from qa_engine.cli import main

main()
