/* Mutant clear_keeps_upg: recovery (clear) forgets the UPGRADER bits of a dead upgradable holder
 * (only an upgrade under way, with OWNER set, is cleared): writers and upgraders are shut out for good
 * Expected to be caught by: no phantom holds (the restarted participant inherits the upgradable
 * hold), no invalid end states; LTL live1 (the writer waits forever)
 * check-config: upg-safety-2p-death */
#define MUTANT_CLEAR_KEEPS_UPG
#include "../prwlock.pml"
