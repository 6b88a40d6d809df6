// StreamSession.h — one admitted TCP connection from its admission ticket to
// the plugin's handle(): pins the current handler binding, wraps the socket
// in a Connection, runs the TLS handshake and the handler, and records what
// happened. Mode threads runs it on a worker of the service's pool
// (ThreadsService.cpp), mode events on a fiber (EventSession.h).
#pragma once

#include "service/Admission.h"

#include <Poco/Net/StreamSocket.h>

namespace portico::host {

class IoWait;
class StreamService;

// Serves one admitted connection on the calling thread or fiber; `wait` as
// for Connection (nullptr: wait on this thread). `ticket` holds the
// connection's admission slot until the session ends.
void run_stream_session(StreamService &service, const Poco::Net::StreamSocket &socket, Admission::Ticket ticket,
                        IoWait *wait);

} // namespace portico::host
