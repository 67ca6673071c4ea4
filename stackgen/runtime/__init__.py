"""Running a generated stack locally (`stackgen up/down/status`) and firing its alerts (`stackgen drill`)."""
