// Simple MAPI: MAPILogon, MAPISendMailW (or MAPISendMail when W is missing
// or refuses with MAPI_E_NOT_SUPPORTED / MAPI_E_UNICODE_NOT_SUPPORTED),
// MAPILogoff, on a DLL loaded at run time. Windows only.
#ifndef OXYMAIL_SIMPLE_MAPI_H_
#define OXYMAIL_SIMPLE_MAPI_H_

#include "mapi_request.h"

namespace oxymail {

// Blocks for as long as the mail client does (a compose dialog can stay open
// for minutes): call it only on the MAPI thread.
SimpleSendResult SendSimple(const SimpleSendRequest& request);

}  // namespace oxymail

#endif  // OXYMAIL_SIMPLE_MAPI_H_
