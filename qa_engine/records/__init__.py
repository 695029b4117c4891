"""The case record: one child's order as qa_engine models it (pydantic), seen as tables, and synthetic caseloads.

Takes nothing from the pipeline; gives the model every stage agrees on (``CaseRecord``), its table
layout, and a generator of realistic records. It must never read a file or judge a case.
"""
