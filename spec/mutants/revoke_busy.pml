/* Mutant revoke_busy: V1 is a plain store R[j] = 0 (count and BIASED) instead of the CAS from
 * "BIASED, count 0": a reader that published (R1) since the scan's load loses its count
 * Expected to be caught by: a holder keeps its lock (R[p] > 0), mutual exclusion
 * check-config: safety-2p-nodeath */
#define MUTANT_REVOKE_BUSY
#include "../prwlock.pml"
