// PPP server engines (one per session) on ppp/: LCP, then authentication by the methods the
// server allows (mschap2 preferred, then mschap1, chap, pap), then IPCP (with DNS, RFC 1877),
// IPV6CP and BCP; the HLAK goes down for the SSTP crypto binding once MS-CHAPv2 succeeds.
#ifndef CONTROLPLANE_PPP_ENGINE_H_
#define CONTROLPLANE_PPP_ENGINE_H_

#include "controlplane/controller.h"

namespace cp {

// The factory sstp-controlplane installs in its Controller.
EngineFactory MakePppEngineFactory();

}  // namespace cp

#endif  // CONTROLPLANE_PPP_ENGINE_H_
