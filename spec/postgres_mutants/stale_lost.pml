/* Mutant stale_lost: the code before the fix of finding P2 (held cleared only after the unlock): a loss noticed while the last
 * release is in flight leaves lostReason set after held = .none; the next hold is then released
 * locally only and its server lock leaks
 * Expected to be caught by: consistency (lostReason only with something held) / no leaked server lock
 * note: the code before the fix of finding P2 (spec/README.md)
 * check-config: pg-safety-2t */
#define MUTANT_STALE_LOST
#include "../postgres_session.pml"
