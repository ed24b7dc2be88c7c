"""File exchange with the shop's own software (issue 17): tables read from CSV or XLSX with limits, checked column
by column into typed rows, and written back as CSV or XLSX (docs/files.md).

table.py holds the shapes (limits, errors, the raw table), reading.py turns bytes into a raw table (encoding and
delimiter detected or declared, formulas refused), columns.py checks a table against a file's columns and answers
typed rows or every error at once, writing.py writes tables. None of them imports FastAPI or SQLAlchemy: the member
import and export build on them, and so can any other file (purchases, price lists).
"""
