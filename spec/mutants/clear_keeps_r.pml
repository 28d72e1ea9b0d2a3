/* Mutant clear_keeps_r: recovery/attach (clear) does not reset the dead slot's readers count R
 * Expected to be caught by: invariant: no phantom read publication in a live participant's slot
 * check-config: safety-2p-death */
#define MUTANT_CLEAR_KEEPS_R
#include "../prwlock.pml"
