/* Mutant downgrade_late: downgrade releases W (WR2-WR5) before it publishes the read in R[me]; a
 * writer can claim and drain in between, and the read hold then runs beside it
 * Expected to be caught by: mutual exclusion
 * check-config: upg-safety-2p */
#define MUTANT_DOWNGRADE_LATE
#include "../prwlock.pml"
