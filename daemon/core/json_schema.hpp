#pragma once
// JSON Schema validation (drafts 4, 6 and 7), with valijson behind this interface. A schema is
// compiled once and validates any number of documents. Pure; no remote references are fetched
// (a $ref to another document is an error of the schema).
#include <memory>
#include <string>
#include <vector>

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

namespace optd::core {

class json_schema {
 public:
  enum class draft { detect, draft4, draft7 };
  // Compiles `schema` as `d`; with detect, its draft comes from "$schema" (draft-04; draft-06 and
  // draft-07 are read as 7; none: 7). An error says why it does not compile.
  static boost::system::result<json_schema, std::string> compile(const nlohmann::json& schema, draft d = draft::detect);
  ~json_schema();
  json_schema(json_schema&&) noexcept;
  json_schema& operator=(json_schema&&) noexcept;

  // The ways `document` breaks the schema, each as "<where>: <what>"; none when it is valid.
  std::vector<std::string> violations(const nlohmann::json& document) const;

 private:
  struct impl;
  explicit json_schema(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace optd::core
