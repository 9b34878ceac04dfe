// Built only while ppp/ does not yet build ppp::Session (see controlplane/meson.build): without
// an engine the controller refuses new sessions cleanly (negotiation-failed) instead of leaving
// them hanging.
#include "controlplane/ppp_engine.h"

namespace cp {

EngineFactory MakePppEngineFactory() { return {}; }

}  // namespace cp
