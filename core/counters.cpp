#include "core/counters.h"

namespace tdseg {

Counters& counters() {
  thread_local Counters c;
  return c;
}

}  // namespace tdseg
