/* Mutant readd_r_first: V3 (and recovery's repair) load R[j] before WQ[j] -- the order of the
 * protocol before the fix of finding 5 (spec/README.md): a queued reader biases (B2) after the
 * load of R and leaves its queue before the load of WQ, and its slot stays biased outside AR
 * Expected to be caught by: P-SET (then mutual exclusion)
 * check-config: safety-2p-nodeath
 * note: the protocol before the fix of finding 5 (spec/README.md) */
#define MUTANT_READD_R_FIRST
#include "../prwlock.pml"
