/* Mutant summary_no_recheck: V4 clears S's bit of a word V2 emptied without re-checking the word:
 * a reader that joined the word meanwhile saw the bit still set, did not set it, and is then in
 * AR but outside S, unseen by writers
 * Expected to be caught by: P-SET (the summary part), then mutual exclusion
 * check-config: safety-2p-nodeath */
#define MUTANT_SUMMARY_NO_RECHECK
#include "../prwlock.pml"
