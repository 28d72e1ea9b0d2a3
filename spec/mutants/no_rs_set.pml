/* Mutant no_rs_set: a reader sleeps on W without setting READERS_SLEEPING, so the writer's release does not wake it
 * Expected to be caught by: no invalid end states (lost wake-up)
 * check-config: safety-2p-nodeath */
#define MUTANT_NO_RS_SET
#include "../prwlock.pml"
