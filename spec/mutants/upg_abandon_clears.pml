/* Mutant upg_abandon_clears: an upgrade that gives up (deadline) clears all of W, as a writer's
 * abandonClaim does, instead of keeping UPGRADER: the live upgradable holder loses its hold
 * Expected to be caught by: upgradable holder keeps its hold
 * check-config: upg-safety-2p */
#define MUTANT_UPG_ABANDON_CLEARS
#include "../prwlock.pml"
