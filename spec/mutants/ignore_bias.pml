/* Mutant ignore_bias: R3 grants on OWNER(w) == 0 without testing BIASED(prev): a reader whose slot
 * is not in the readers set AR (never biased since attach, or revoked) enters on the fast path and
 * is invisible to a draining writer, which scans AR only
 * Expected to be caught by: mutual exclusion (P-SET holds: the reader neither biases nor queues)
 * check-config: safety-2p-nodeath */
#define MUTANT_IGNORE_BIAS
#include "../prwlock.pml"
