# The libraries' layering, enforced at configure time: each folder's README
# says what it never depends on, and this refuses a link that breaks it
# (directly or through another library). Called at the end of the top-level
# CMakeLists.txt, once every target exists.

# Every target `target` links, directly or transitively (CMake targets and
# plain names alike), into the variable named by `out`.
function(gatehouse_links_of target out)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue t)
    if(NOT TARGET ${t})
      continue()
    endif()
    get_target_property(type ${t} TYPE)
    set(libs "")
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${t} LINK_LIBRARIES)
      if(direct)
        list(APPEND libs ${direct})
      endif()
    endif()
    get_target_property(iface ${t} INTERFACE_LINK_LIBRARIES)
    if(iface)
      list(APPEND libs ${iface})
    endif()
    foreach(l IN LISTS libs)
      string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" l "${l}")
      if(NOT l IN_LIST seen)
        list(APPEND seen ${l})
        list(APPEND queue ${l})
      endif()
    endforeach()
  endwhile()
  set(${out} ${seen} PARENT_SCOPE)
endfunction()

# Fails the configure if `target` links any of the targets after NEVER.
function(gatehouse_never_links target)
  cmake_parse_arguments(ARG "" "" "NEVER" ${ARGN})
  if(NOT TARGET ${target})
    return()
  endif()
  gatehouse_links_of(${target} links)
  foreach(forbidden IN LISTS ARG_NEVER)
    if(forbidden IN_LIST links)
      message(FATAL_ERROR "layering: ${target} must never link ${forbidden} (see its folder's README)")
    endif()
  endforeach()
endfunction()

set(GATEHOUSE_GRPC gatehouse_grpc PkgConfig::GRPCPP grpc++_reflection)
set(GATEHOUSE_DAEMON gatehouse_gateway gatehouse_store gatehouse_store_postgres
  gatehouse_transport)
gatehouse_never_links(gatehouse_common NEVER gatehouse_proto protobuf::libprotobuf
  ${GATEHOUSE_GRPC} ${GATEHOUSE_DAEMON} OpenSSL::SSL OpenSSL::Crypto PkgConfig::SODIUM)
foreach(lib gatehouse_proto gatehouse_policy gatehouse_envelope gatehouse_audit gatehouse_sla)
  gatehouse_never_links(${lib} NEVER ${GATEHOUSE_GRPC} ${GATEHOUSE_DAEMON} gatehouse_record)
endforeach()
gatehouse_never_links(gatehouse_record NEVER ${GATEHOUSE_GRPC} ${GATEHOUSE_DAEMON})
foreach(lib gatehouse_store gatehouse_store_postgres)
  gatehouse_never_links(${lib} NEVER ${GATEHOUSE_GRPC} gatehouse_gateway
    gatehouse_transport gatehouse_record gatehouse_policy gatehouse_envelope gatehouse_audit)
endforeach()
# The libpq wrapper knows nothing of Gatehouse; the audit log in PostgreSQL
# is the audit library on it, never the store or the daemon (auditctl reads it).
gatehouse_never_links(gatehouse_pg NEVER gatehouse_proto ${GATEHOUSE_GRPC} ${GATEHOUSE_DAEMON}
  gatehouse_audit gatehouse_record)
gatehouse_never_links(gatehouse_audit_postgres NEVER ${GATEHOUSE_GRPC} ${GATEHOUSE_DAEMON}
  gatehouse_record gatehouse_policy gatehouse_envelope)
gatehouse_never_links(gatehouse_transport NEVER gatehouse_gateway gatehouse_store
  gatehouse_record gatehouse_policy gatehouse_audit)
# Tools never link the daemon; the offline tools link no gRPC.
foreach(tool gatehouse ghbench echo_server ghkey auditctl policyc envelope_vectors)
  gatehouse_never_links(${tool} NEVER gatehouse_gateway gatehouse_store gatehouse_store_postgres
    gatehouse_record)
endforeach()
foreach(tool auditctl policyc ghkey envelope_vectors)
  gatehouse_never_links(${tool} NEVER ${GATEHOUSE_GRPC} gatehouse_transport)
endforeach()
# Revocation (x509/) serves the daemon and the workbench alike: it never
# links gRPC, the daemon, nor what it has no need of.
gatehouse_never_links(gatehouse_x509 NEVER ${GATEHOUSE_GRPC} ${GATEHOUSE_DAEMON} gatehouse_record
  gatehouse_policy gatehouse_envelope gatehouse_audit)
# The officers' workbench never links gRPC or the daemon (its revocation
# check is gatehouse_x509's).
foreach(tool gatehouse_workbench gatehouse-workbench)
  gatehouse_never_links(${tool} NEVER ${GATEHOUSE_GRPC} ${GATEHOUSE_DAEMON} gatehouse_record)
endforeach()
