/* Mutant clear_keeps_dead_next: recovery (clear) takes a dead slot's NEXT out of W only when W
 * has no owner (as the model of UPGRADER did before NEXT): a dead next writer's NEXT stays while
 * another participant owns W
 * Expected to be caught by: no phantom NEXT (the restarted participant's attach leaves its
 * predecessor's NEXT in W)
 * check-config: safety-2p-death */
#define MUTANT_CLEAR_KEEPS_DEAD_NEXT
#include "../prwlock.pml"
