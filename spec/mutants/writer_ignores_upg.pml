/* Mutant writer_ignores_upg: a writer claims W whenever OWNER is 0 (CAS W -> NEXT bits | me+1), on
 * the fast path (W2) and in the claim loop, ignoring NEXT (an upgradable holder, or the next
 * writer); its blockers() see the owner alone
 * Expected to be caught by: P-WNEXT (the assertion at the claim); with -DUPG also upgradable mutual
 * exclusion
 * check-config: upg-safety-2p */
#define MUTANT_WRITER_IGNORES_UPG
#include "../prwlock.pml"
