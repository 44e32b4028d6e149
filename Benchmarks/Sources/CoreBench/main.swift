// CoreBench — prints figures; filled in with its issue.
print("CoreBench: not written yet")
