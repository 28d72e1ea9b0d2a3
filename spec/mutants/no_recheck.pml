/* Mutant no_recheck: a writer sleeps on E without re-checking its condition after setting WRITERS_SLEEPING
 * Expected to be caught by: no invalid end states (lost wake-up)
 * check-config: safety-2p-nodeath */
#define MUTANT_NO_RECHECK
#include "../prwlock.pml"
