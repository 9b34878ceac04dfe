#include "controlplane/ppp_engine.h"

namespace cp {

// ppp/session.h is not in the tree yet: without an engine the controller refuses sessions
// cleanly (negotiation-failed) instead of leaving them hanging.
EngineFactory MakePppEngineFactory() { return {}; }

}  // namespace cp
