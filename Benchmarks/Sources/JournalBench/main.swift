// JournalBench — prints figures; filled in with its issue.
print("JournalBench: not written yet")
