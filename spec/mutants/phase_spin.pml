/* Mutant phase_spin: the code before the fix of finding 1 -- every sleep of a writer in the claim
 * loop is bounded by the end of its reader phase, also after the phase is over, so a writer that
 * waits for another writer spins.
 * Expected to be caught by: LTL nobusy (no busy waiting while a writer holds)
 * check-config: no-busy-wait */
#define MUTANT_PHASE_SPIN
#include "../prwlock.pml"
