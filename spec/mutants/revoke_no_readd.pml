/* Mutant revoke_no_readd: a revocation without V3: a slot revoked while its reader queues (WQ != 0)
 * or re-biases stays out of AR
 * Expected to be caught by: P-SET (queued or biased slot outside AR); else mutual exclusion
 * check-config: safety-2p-nodeath */
#define MUTANT_REVOKE_NO_READD
#include "../prwlock.pml"
