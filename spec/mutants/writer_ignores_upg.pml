/* Mutant writer_ignores_upg: a writer claims W whenever OWNER is 0 (CAS W | me+1), ignoring the
 * UPGRADER bits, instead of only from W == 0; its blockers() see the owner alone
 * Expected to be caught by: upgradable mutual exclusion (a writer beside the upgradable holder)
 * check-config: upg-safety-2p */
#define MUTANT_WRITER_IGNORES_UPG
#include "../prwlock.pml"
