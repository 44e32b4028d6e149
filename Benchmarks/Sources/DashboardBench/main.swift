// DashboardBench — prints figures; filled in with its issue.
print("DashboardBench: not written yet")
