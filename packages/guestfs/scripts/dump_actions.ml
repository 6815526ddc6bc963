(* Prints libguestfs's action table (generator/actions*.ml, proc_nr.ml) as JSON on stdout.
 * Compiled against the generator sources of a libguestfs source tree by
 * generate-protocol.sh; it uses only the generator's own types, so what it prints is exactly
 * what upstream's generator knows about each action: procedure number, argument kinds
 * (FileIn, FileOut, Pathname...), optional arguments, return kind, flags and descriptions. *)

open Printf
open Types

let json_string s =
  let b = Buffer.create (String.length s + 2) in
  Buffer.add_char b '"';
  String.iter
    (fun c ->
      match c with
      | '"' -> Buffer.add_string b "\\\""
      | '\\' -> Buffer.add_string b "\\\\"
      | '\n' -> Buffer.add_string b "\\n"
      | '\t' -> Buffer.add_string b "\\t"
      | c when Char.code c < 0x20 -> Buffer.add_string b (sprintf "\\u%04x" (Char.code c))
      | c -> Buffer.add_char b c)
    s;
  Buffer.add_char b '"';
  Buffer.contents b

let list f xs = "[" ^ String.concat "," (List.map f xs) ^ "]"

let stringt = function
  | PlainString -> "PlainString" | Device -> "Device" | Mountable -> "Mountable"
  | Pathname -> "Pathname" | FileIn -> "FileIn" | FileOut -> "FileOut" | Key -> "Key"
  | GUID -> "GUID" | Filename -> "Filename" | Dev_or_Path -> "Dev_or_Path"
  | Mountable_or_Path -> "Mountable_or_Path"

let rstringt = function
  | RPlainString -> "PlainString" | RDevice -> "Device" | RMountable -> "Mountable"

let arg = function
  | Bool n -> sprintf "{\"type\":\"Bool\",\"name\":%s}" (json_string n)
  | Int n -> sprintf "{\"type\":\"Int\",\"name\":%s}" (json_string n)
  | Int64 n -> sprintf "{\"type\":\"Int64\",\"name\":%s}" (json_string n)
  | String (k, n) ->
    sprintf "{\"type\":\"String\",\"kind\":%s,\"name\":%s}" (json_string (stringt k)) (json_string n)
  | OptString n -> sprintf "{\"type\":\"OptString\",\"name\":%s}" (json_string n)
  | StringList (k, n) ->
    sprintf "{\"type\":\"StringList\",\"kind\":%s,\"name\":%s}" (json_string (stringt k))
      (json_string n)
  | BufferIn n -> sprintf "{\"type\":\"BufferIn\",\"name\":%s}" (json_string n)
  | Pointer (t, n) ->
    sprintf "{\"type\":\"Pointer\",\"ctype\":%s,\"name\":%s}" (json_string t) (json_string n)

let optarg = function
  | OBool n -> sprintf "{\"type\":\"OBool\",\"name\":%s}" (json_string n)
  | OInt n -> sprintf "{\"type\":\"OInt\",\"name\":%s}" (json_string n)
  | OInt64 n -> sprintf "{\"type\":\"OInt64\",\"name\":%s}" (json_string n)
  | OString n -> sprintf "{\"type\":\"OString\",\"name\":%s}" (json_string n)
  | OStringList n -> sprintf "{\"type\":\"OStringList\",\"name\":%s}" (json_string n)

let ret = function
  | RErr -> "{\"type\":\"RErr\"}"
  | RInt _ -> "{\"type\":\"RInt\"}"
  | RInt64 _ -> "{\"type\":\"RInt64\"}"
  | RBool _ -> "{\"type\":\"RBool\"}"
  | RConstString _ -> "{\"type\":\"RConstString\"}"
  | RConstOptString _ -> "{\"type\":\"RConstOptString\"}"
  | RString (k, _) -> sprintf "{\"type\":\"RString\",\"kind\":%s}" (json_string (rstringt k))
  | RStringList (k, _) ->
    sprintf "{\"type\":\"RStringList\",\"kind\":%s}" (json_string (rstringt k))
  | RStruct (_, s) -> sprintf "{\"type\":\"RStruct\",\"struct\":%s}" (json_string s)
  | RStructList (_, s) -> sprintf "{\"type\":\"RStructList\",\"struct\":%s}" (json_string s)
  | RHashtable (k, v, _) ->
    sprintf "{\"type\":\"RHashtable\",\"key\":%s,\"value\":%s}" (json_string (rstringt k))
      (json_string (rstringt v))
  | RBufferOut _ -> "{\"type\":\"RBufferOut\"}"

let visibility = function
  | VPublic -> "public" | VPublicNoFish -> "public_no_fish" | VStateTest -> "state_test"
  | VBindTest -> "bind_test" | VDebug -> "debug" | VInternal -> "internal"

let deprecated = function
  | Not_deprecated -> "null"
  | Replaced_by n -> json_string n
  | Deprecated_no_replacement -> "\"\""

let action a =
  let r, args, optargs = a.style in
  let maj, min, rel = a.added in
  sprintf
    "{\"name\":%s,\"proc_nr\":%s,\"added\":\"%d.%d.%d\",\"ret\":%s,\"args\":%s,\"optargs\":%s,\
     \"visibility\":%s,\"deprecated_by\":%s,\"optional\":%s,\"progress\":%b,\"cancellable\":%b,\
     \"shortdesc\":%s,\"longdesc\":%s}"
    (json_string a.name)
    (match a.proc_nr with Some n -> string_of_int n | None -> "null")
    maj min rel (ret r) (list arg args) (list optarg optargs)
    (json_string (visibility a.visibility)) (deprecated a.deprecated_by)
    (match a.optional with Some g -> json_string g | None -> "null")
    a.progress a.cancellable (json_string a.shortdesc) (json_string a.longdesc)

let () =
  print_string (list action (Actions.sort Actions.actions));
  print_newline ()
