/* Mutant next_overtaken (= claim_ignores_next): a slow-path writer does not wait for another
 * writer's NEXT and claims from OWNER == 0 (CAS W -> W | me+1, keeping the other's NEXT)
 * Expected to be caught by: P-WNEXT (the assertion at the claim)
 * check-config: safety-2p-nodeath */
#define MUTANT_NEXT_OVERTAKEN
#include "../prwlock.pml"
