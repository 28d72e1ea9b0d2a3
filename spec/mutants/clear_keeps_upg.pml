/* Mutant clear_keeps_upg: recovery (clear) never takes a dead slot's NEXT out of W when the slot
 * does not own W (its upgradable hold, or its place as the next writer): writers and upgraders
 * are shut out for good
 * Expected to be caught by: no phantom NEXT / no phantom holds (the restarted participant inherits
 * the hold or the place), no invalid end states; LTL live1 (the writer waits forever)
 * check-config: upg-safety-2p-death */
#define MUTANT_CLEAR_KEEPS_UPG
#include "../prwlock.pml"
