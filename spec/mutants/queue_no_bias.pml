/* Mutant queue_no_bias: the slow path queues (WQ += 1) without R6b: a queued reader whose slot is
 * not biased is not in AR, so writers never see it queued and never defer to it (fairness, not
 * safety: the queued reader still biases itself when it next sees W free, R4)
 * Expected to be caught by: P-SET (WQ != 0 outside AR); no safety property (see spec/README.md)
 * check-config: safety-2p-nodeath */
#define MUTANT_QUEUE_NO_BIAS
#include "../prwlock.pml"
