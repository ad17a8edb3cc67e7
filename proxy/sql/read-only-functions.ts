/**
 * Built-in (pg_catalog) functions that cannot write or reach outside the statement: a call to
 * anything else is flagged `unknown_function`. Volatile is fine (random, now, clock_timestamp)
 * as long as nothing is changed. Left out on purpose: sequence functions (nextval, setval),
 * anything that assigns a transaction id (txid_current, pg_current_xact_id), settings
 * (set_config), locks (pg_advisory_*), notifications (pg_notify), large objects (lo_*), files
 * (pg_read_*, pg_ls_*), dblink*, statistics resets, replication and backup control, and
 * functions that run a query given as text (query_to_xml, ts_stat, ts_rewrite).
 */
export const READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set([
  // Aggregates.
  'count', 'sum', 'avg', 'min', 'max', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_agg_strict',
  'jsonb_agg_strict', 'json_object_agg', 'jsonb_object_agg', 'json_object_agg_strict', 'jsonb_object_agg_strict',
  'json_object_agg_unique', 'jsonb_object_agg_unique', 'json_object_agg_unique_strict',
  'jsonb_object_agg_unique_strict', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'bit_xor',
  'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp', 'corr', 'covar_pop', 'covar_samp',
  'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx', 'regr_sxy',
  'regr_syy', 'mode', 'percentile_cont', 'percentile_disc', 'any_value', 'xmlagg', 'range_agg',
  'range_intersect_agg', 'grouping',
  // Window functions.
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value',
  'last_value', 'nth_value',
  // Strings and bytes.
  'lower', 'upper', 'initcap', 'casefold', 'length', 'char_length', 'character_length', 'octet_length',
  'bit_length', 'substr', 'substring', 'btrim', 'ltrim', 'rtrim', 'lpad', 'rpad', 'concat', 'concat_ws',
  'format', 'replace', 'split_part', 'left', 'right', 'position', 'strpos', 'starts_with', 'reverse', 'repeat',
  'translate', 'ascii', 'chr', 'quote_ident', 'quote_literal', 'quote_nullable', 'regexp_match',
  'regexp_matches', 'regexp_replace', 'regexp_split_to_array', 'regexp_split_to_table', 'regexp_count',
  'regexp_instr', 'regexp_like', 'regexp_substr', 'string_to_array', 'string_to_table', 'array_to_string',
  'to_hex', 'to_bin', 'to_oct', 'to_ascii', 'md5', 'sha224', 'sha256', 'sha384', 'sha512', 'crc32', 'crc32c',
  'encode', 'decode', 'convert', 'convert_from', 'convert_to', 'overlay', 'normalize', 'is_normalized',
  'unistr', 'parse_ident', 'get_bit', 'get_byte', 'set_bit', 'set_byte', 'bit_count', 'like_escape',
  'similar_to_escape', 'text', 'varchar', 'bpchar', 'char', 'name',
  // Numbers.
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'sqrt', 'cbrt', 'exp', 'ln', 'log', 'log10',
  'power', 'pow', 'mod', 'div', 'pi', 'degrees', 'radians', 'sin', 'cos', 'tan', 'cot', 'asin', 'acos', 'atan',
  'atan2', 'sind', 'cosd', 'tand', 'cotd', 'asind', 'acosd', 'atand', 'atan2d', 'sinh', 'cosh', 'tanh',
  'asinh', 'acosh', 'atanh', 'erf', 'erfc', 'gamma', 'lgamma', 'gcd', 'lcm', 'factorial', 'width_bucket',
  'scale', 'min_scale', 'trim_scale', 'greatest', 'least', 'random', 'random_normal', 'int2', 'int4', 'int8',
  'float4', 'float8', 'numeric', 'to_number', 'bool',
  // Dates and times.
  'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timeofday', 'date_trunc',
  'date_part', 'extract', 'date_bin', 'date_add', 'date_subtract', 'age', 'to_char', 'to_date', 'to_timestamp',
  'make_date', 'make_time', 'make_timestamp', 'make_timestamptz', 'make_interval', 'justify_days',
  'justify_hours', 'justify_interval', 'isfinite', 'timezone', 'overlaps', 'date', 'time', 'timetz',
  'timestamp', 'timestamptz', 'interval',
  // JSON and XML.
  'to_json', 'to_jsonb', 'array_to_json', 'row_to_json', 'json_build_array', 'jsonb_build_array',
  'json_build_object', 'jsonb_build_object', 'json_object', 'jsonb_object', 'json_array_length',
  'jsonb_array_length', 'json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text', 'json_extract_path',
  'jsonb_extract_path', 'json_extract_path_text', 'jsonb_extract_path_text', 'json_object_keys',
  'jsonb_object_keys', 'json_populate_record', 'jsonb_populate_record', 'jsonb_populate_record_valid',
  'json_populate_recordset', 'jsonb_populate_recordset', 'json_to_record', 'jsonb_to_record',
  'json_to_recordset', 'jsonb_to_recordset', 'json_strip_nulls', 'jsonb_strip_nulls', 'jsonb_set',
  'jsonb_set_lax', 'jsonb_insert', 'jsonb_pretty', 'json_typeof', 'jsonb_typeof', 'json_array_elements',
  'jsonb_array_elements', 'json_array_elements_text', 'jsonb_array_elements_text', 'jsonb_path_exists',
  'jsonb_path_match', 'jsonb_path_query', 'jsonb_path_query_array', 'jsonb_path_query_first',
  'jsonb_path_exists_tz', 'jsonb_path_match_tz', 'jsonb_path_query_tz', 'jsonb_path_query_array_tz',
  'jsonb_path_query_first_tz', 'jsonb_contains', 'jsonb_contained', 'jsonb_exists', 'jsonb_exists_any',
  'jsonb_exists_all', 'jsonb_concat', 'jsonb_delete', 'jsonb_delete_path', 'json', 'jsonb', 'xpath',
  'xpath_exists', 'xml_is_well_formed', 'xml_is_well_formed_document', 'xml_is_well_formed_content',
  'xmlcomment', 'xmltext',
  // Text search (not ts_stat / ts_rewrite / ts_debug, which run SQL given as text).
  'to_tsvector', 'to_tsquery', 'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery', 'ts_rank',
  'ts_rank_cd', 'ts_headline', 'ts_lexize', 'ts_parse', 'ts_token_type', 'setweight', 'strip', 'numnode',
  'querytree', 'tsvector_to_array', 'array_to_tsvector', 'get_current_ts_config', 'ts_delete', 'ts_filter',
  'tsquery_phrase',
  // Arrays, ranges and set-returning helpers.
  'array_length', 'array_lower', 'array_upper', 'array_ndims', 'array_dims', 'cardinality', 'array_append',
  'array_prepend', 'array_cat', 'array_remove', 'array_replace', 'array_position', 'array_positions',
  'array_fill', 'array_reverse', 'array_sample', 'array_shuffle', 'array_sort', 'trim_array', 'unnest',
  'generate_series', 'generate_subscripts', 'isempty', 'lower_inc', 'upper_inc', 'lower_inf', 'upper_inf',
  'range_merge', 'multirange', 'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange',
  'int4multirange', 'int8multirange', 'nummultirange', 'tsmultirange', 'tstzmultirange', 'datemultirange',
  // UUIDs and network addresses.
  'gen_random_uuid', 'uuidv4', 'uuidv7', 'uuid_extract_timestamp', 'uuid_extract_version', 'host', 'hostmask',
  'masklen', 'netmask', 'network', 'broadcast', 'family', 'abbrev', 'inet_merge', 'inet_same_family',
  'set_masklen', 'inet', 'cidr',
  // Session and catalog information.
  'coalesce', 'nullif', 'num_nulls', 'num_nonnulls', 'pg_typeof', 'pg_collation_for', 'version',
  'current_setting', 'current_database', 'current_schema', 'current_schemas', 'current_user', 'current_role',
  'current_catalog', 'session_user', 'system_user', 'user', 'inet_client_addr', 'inet_client_port',
  'inet_server_addr', 'inet_server_port', 'pg_backend_pid', 'pg_postmaster_start_time', 'pg_conf_load_time',
  'pg_is_in_recovery', 'pg_trigger_depth', 'pg_blocking_pids', 'pg_jit_available', 'pg_listening_channels',
  'pg_get_viewdef', 'pg_get_indexdef', 'pg_get_constraintdef', 'pg_get_functiondef', 'pg_get_function_arguments',
  'pg_get_function_result', 'pg_get_function_identity_arguments', 'pg_get_expr', 'pg_get_userbyid',
  'pg_get_serial_sequence', 'pg_get_triggerdef', 'pg_get_ruledef', 'pg_get_statisticsobjdef',
  'pg_get_partkeydef', 'pg_get_keywords', 'pg_table_is_visible', 'pg_type_is_visible',
  'pg_function_is_visible', 'pg_index_column_has_property', 'pg_indexam_has_property', 'pg_index_has_property',
  'format_type', 'obj_description', 'col_description', 'shobj_description', 'has_table_privilege',
  'has_column_privilege', 'has_any_column_privilege', 'has_schema_privilege', 'has_database_privilege',
  'has_function_privilege', 'has_sequence_privilege', 'has_language_privilege', 'has_type_privilege',
  'has_tablespace_privilege', 'has_foreign_data_wrapper_privilege', 'has_server_privilege',
  'has_parameter_privilege', 'pg_has_role', 'row_security_active', 'pg_relation_size',
  'pg_total_relation_size', 'pg_table_size', 'pg_indexes_size', 'pg_database_size', 'pg_tablespace_size',
  'pg_size_pretty', 'pg_size_bytes', 'pg_column_size', 'pg_column_compression', 'pg_encoding_to_char',
  'pg_char_to_encoding', 'pg_client_encoding', 'to_regclass', 'to_regtype', 'to_regtypemod', 'to_regproc',
  'to_regprocedure', 'to_regnamespace', 'to_regrole', 'to_regoper', 'to_regcollation', 'pg_input_is_valid',
  'pg_input_error_info', 'pg_partition_tree', 'pg_partition_root', 'pg_partition_ancestors',
  'pg_describe_object', 'pg_identify_object', 'pg_identify_object_as_address', 'pg_get_object_address',
  'pg_options_to_table', 'pg_settings_get_flags', 'pg_current_wal_lsn', 'pg_last_wal_receive_lsn',
  'pg_last_wal_replay_lsn', 'pg_last_xact_replay_timestamp', 'pg_get_catalog_foreign_keys',
]);
