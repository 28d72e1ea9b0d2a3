/* Mutant wake_one: wakeWriters() wakes one sleeper on E instead of all
 * Expected to be caught by: no invalid end states (a writer left asleep; needs 3 participants)
 * check-config: bound-3p */
#define MUTANT_WAKE_ONE
#include "../prwlock.pml"
