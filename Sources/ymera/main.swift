// Placeholder entry point; the command line is built with the engine issue.
print("ymera")
