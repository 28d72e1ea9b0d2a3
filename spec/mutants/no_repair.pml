/* Mutant no_repair: recovery (C1) releases a dead W owner's W without repairing AR: the owner died
 * inside a revocation (after V2, before V3), so a biased or queued slot stays out of AR
 * Expected to be caught by: P-SET (a death between V2 and V3 needed)
 * check-config: safety-2p-death */
#define MUTANT_NO_REPAIR
#include "../prwlock.pml"
