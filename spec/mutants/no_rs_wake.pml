/* Mutant no_rs_wake: a writer's release (abandonClaim) does not futex_wake W although READERS_SLEEPING was set
 * Expected to be caught by: no invalid end states (lost wake-up)
 * check-config: safety-2p-nodeath */
#define MUTANT_NO_RS_WAKE
#include "../prwlock.pml"
