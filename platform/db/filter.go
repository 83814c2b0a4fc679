package db

import "gorm.io/gorm"

// Cond is one optional condition of a filtered query: SQL with one
// placeholder, and its value; an empty value is a filter not asked for.
type Cond struct {
	SQL   string
	Value string
}

// IfSet is the condition sql on value, applied only when value is not "".
func IfSet(sql, value string) Cond { return Cond{SQL: sql, Value: value} }

// Filter adds to q, in order, each of conds whose value is set: the one way
// a list query turns a request's optional filters into WHERE clauses.
func Filter(q *gorm.DB, conds ...Cond) *gorm.DB {
	for _, c := range conds {
		if c.Value != "" {
			q = q.Where(c.SQL, c.Value)
		}
	}
	return q
}
