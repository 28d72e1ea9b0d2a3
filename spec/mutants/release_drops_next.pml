/* Mutant release_drops_next: the write release (WR4) and abandonClaim CAS W to 0, dropping another
 * writer's NEXT, instead of keeping W's NEXT bits
 * Expected to be caught by: a NEXT writer keeps NEXT (then P-WBOUND in the bound-* configurations)
 * check-config: safety-2p-nodeath */
#define MUTANT_RELEASE_DROPS_NEXT
#include "../prwlock.pml"
