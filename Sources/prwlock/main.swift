import PRWLock
print("prwlock")
