package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// The data-ownership checks read Go source (parsed, not built), so they run
// on the repository and on an in-memory tree alike. Modules are the
// directories under modules/; a module's tables are the ones its own code
// declares: TableName methods, the types its migrations create and CREATE
// TABLE statements.

// ownerPlatform owns the tables every module shares by design (the event
// backbone's outbox, inbox and dead letters, the migration records).
const ownerPlatform = "platform"

// sourceFile is one parsed Go file of the tree.
type sourceFile struct {
	path string // slash-separated, from the repository root
	// owner is the module the file belongs to, ownerPlatform, "cmd" or "".
	owner string
	// test: a _test.go file or one of a module's test kit (modules/x/xtest/...),
	// which build throwaway databases and stand-ins of other modules.
	test    bool
	fset    *token.FileSet
	file    *ast.File
	imports map[string]string // local name → import path
}

// sourceTree is the parsed Go source of a repository.
type sourceTree struct {
	root    string   // the Go module path, from go.mod
	modules []string // the directories under modules/
	files   []*sourceFile
}

// loadSourceTree parses every Go file of fsys (a repository root), skipping
// testdata, vendor and hidden directories.
func loadSourceTree(fsys fs.FS) (*sourceTree, error) {
	gomod, err := fs.ReadFile(fsys, "go.mod")
	if err != nil {
		return nil, err
	}
	t := &sourceTree{}
	for line := range strings.Lines(string(gomod)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			t.root = strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	if t.root == "" {
		return nil, fmt.Errorf("go.mod names no module")
	}
	if entries, err := fs.ReadDir(fsys, "modules"); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				t.modules = append(t.modules, e.Name())
			}
		}
	}
	fset := token.NewFileSet()
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != "." && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		sf := &sourceFile{path: p, fset: fset, file: f, imports: map[string]string{}, test: strings.HasSuffix(p, "_test.go")}
		parts := strings.Split(p, "/")
		switch {
		case parts[0] == "modules" && len(parts) > 2:
			sf.owner = parts[1]
			if len(parts) > 3 && parts[2] == parts[1]+"test" {
				sf.test = true
			}
		case parts[0] == "platform" || parts[0] == "cmd":
			sf.owner = parts[0]
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			name := path.Base(ip)
			if imp.Name != nil {
				name = imp.Name.Name
			} else if strings.HasPrefix(name, "v") && strings.Trim(name[1:], "0123456789") == "" {
				name = path.Base(path.Dir(ip)) // echo/v4 → echo
			}
			sf.imports[name] = ip
		}
		t.files = append(t.files, sf)
		return nil
	})
	return t, err
}

func (t *sourceTree) isModule(name string) bool { return slices.Contains(t.modules, name) }

// moduleOfImport is the module an import path belongs to ("" if none).
func (t *sourceTree) moduleOfImport(ip string) string {
	rest, ok := strings.CutPrefix(ip, t.root+"/modules/")
	if !ok {
		return ""
	}
	m, _, _ := strings.Cut(rest, "/")
	return m
}

func (f *sourceFile) at(n ast.Node) string {
	return fmt.Sprintf("%s:%d", f.path, f.fset.Position(n.Pos()).Line)
}

// stringLit is the value of a string literal, if n is one.
func stringLit(n ast.Node) (string, bool) {
	bl, ok := n.(*ast.BasicLit)
	if !ok || bl.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(bl.Value)
	return s, err == nil
}

// table is a declared table and its owner.
type table struct {
	name, owner string
	// types are the Go types (package path + "." + name) mapped to it.
	types []string
}

var (
	reCreateTable = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?["` + "`" + `]?([A-Za-z_][A-Za-z0-9_]*)`)
	reSQLStart    = regexp.MustCompile(`(?is)^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|WITH|REPLACE)\b`)
	reSQLTable    = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ON)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?["` + "`" + `]?([A-Za-z_][A-Za-z0-9_]*)`)
)

// sqlMethods take SQL (or a table name, for Table) as their first argument.
var sqlMethods = map[string]bool{"Table": true, "Raw": true, "Exec": true, "Joins": true, "Where": true, "Select": true, "Having": true, "Order": true, "Group": true}

// declaredTables finds each table the non-test code declares, by owner. A
// table declared by two modules is reported.
func declaredTables(t *sourceTree) (map[string]*table, []string) {
	tables := map[string]*table{}
	var violations []string
	declare := func(f *sourceFile, n ast.Node, name, typ string) {
		owner := f.owner
		if owner != ownerPlatform && !t.isModule(owner) {
			return
		}
		tb, ok := tables[name]
		switch {
		case !ok:
			tb = &table{name: name, owner: owner}
			tables[name] = tb
		case tb.owner != owner:
			violations = append(violations, fmt.Sprintf("%s: table %s is declared by %s and by %s: each table belongs to one module", f.at(n), name, tb.owner, owner))
		}
		if typ != "" && !slices.Contains(tb.types, typ) {
			tb.types = append(tb.types, typ)
		}
	}
	for _, f := range t.files {
		if f.test {
			continue
		}
		pkgPath := t.root + "/" + path.Dir(f.path)
		named := map[string]bool{} // types of this file with a TableName method
		ast.Inspect(f.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if name, typ, ok := tableNameMethod(n); ok {
					declare(f, n, name, pkgPath+"."+typ)
					named[typ] = true
				}
			case *ast.BasicLit:
				if s, ok := stringLit(n); ok {
					for _, m := range reCreateTable.FindAllStringSubmatch(s, -1) {
						declare(f, n, strings.ToLower(m[1]), "")
					}
				}
			}
			return true
		})
		// Types a migration creates with GORM's default table name.
		ast.Inspect(f.file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "CreateTable" && sel.Sel.Name != "AutoMigrate") {
				return true
			}
			for _, arg := range call.Args {
				if typ := addressedType(arg); typ != "" && !named[typ] && !hasTableName(t, f, typ) {
					declare(f, arg, gormTableName(typ), pkgPath+"."+typ)
				}
			}
			return true
		})
	}
	slices.Sort(violations)
	return tables, violations
}

// tableNameMethod matches `func (T) TableName() string { return "x" }`.
func tableNameMethod(fd *ast.FuncDecl) (name, typ string, ok bool) {
	if fd.Name.Name != "TableName" || fd.Recv == nil || len(fd.Recv.List) != 1 || fd.Body == nil || len(fd.Body.List) != 1 {
		return "", "", false
	}
	ret, isRet := fd.Body.List[0].(*ast.ReturnStmt)
	if !isRet || len(ret.Results) != 1 {
		return "", "", false
	}
	s, isLit := stringLit(ret.Results[0])
	rt := fd.Recv.List[0].Type
	if star, isStar := rt.(*ast.StarExpr); isStar {
		rt = star.X
	}
	id, isIdent := rt.(*ast.Ident)
	if !isLit || !isIdent {
		return "", "", false
	}
	return s, id.Name, true
}

// hasTableName tells whether typ, in f's package, has a TableName method.
func hasTableName(t *sourceTree, f *sourceFile, typ string) bool {
	dir := path.Dir(f.path)
	for _, g := range t.files {
		if path.Dir(g.path) != dir || g.test {
			continue
		}
		for _, d := range g.file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				if _, rt, ok := tableNameMethod(fd); ok && rt == typ {
					return true
				}
			}
		}
	}
	return false
}

// addressedType is T of &T{} (a type of the same package), else "".
func addressedType(e ast.Expr) string {
	u, ok := e.(*ast.UnaryExpr)
	if !ok || u.Op != token.AND {
		return ""
	}
	cl, ok := u.X.(*ast.CompositeLit)
	if !ok {
		return ""
	}
	if id, ok := cl.Type.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// gormTableName is GORM's default table name for a type: snake case,
// plural (the simple English rules are enough for row types).
func gormTableName(typ string) string {
	var b strings.Builder
	for i, r := range typ {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	s := b.String()
	switch {
	case strings.HasSuffix(s, "y") && !strings.HasSuffix(s, "ay") && !strings.HasSuffix(s, "ey") && !strings.HasSuffix(s, "oy"):
		return s[:len(s)-1] + "ies"
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	}
	return s + "s"
}

// checkTableOwnership reports each use of a module's table outside that
// module: SQL naming it (Table("x"), FROM, JOIN, INTO, UPDATE, ...) or its
// GORM model type, in any module's code (tests included), in platform/ or
// in cmd/ (tests excepted: end-to-end tests read every store on purpose).
// Tables of ownerPlatform are shared and may be used anywhere.
func checkTableOwnership(t *sourceTree) []string {
	tables, violations := declaredTables(t)
	typeOwner := map[string]*table{}
	for _, tb := range tables {
		for _, typ := range tb.types {
			typeOwner[typ] = tb
		}
	}
	foreign := func(f *sourceFile, name string) (*table, bool) {
		tb, ok := tables[strings.ToLower(name)]
		return tb, ok && tb.owner != ownerPlatform && tb.owner != f.owner
	}
	for _, f := range t.files {
		if f.owner == "" || (f.test && !t.isModule(f.owner)) {
			continue
		}
		report := func(n ast.Node, tb *table, how string) {
			violations = append(violations, fmt.Sprintf("%s: %s uses table %s of module %s (%s): only its own module may", f.at(n), f.owner, tb.name, tb.owner, how))
		}
		sqlArgs := map[ast.Node]string{} // literals passed to a SQL method
		ast.Inspect(f.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sqlMethods[sel.Sel.Name] && len(n.Args) > 0 {
					sqlArgs[n.Args[0]] = sel.Sel.Name
				}
			case *ast.SelectorExpr:
				// A GORM model type of another module: pkg.T.
				if id, ok := n.X.(*ast.Ident); ok {
					if ip, ok := f.imports[id.Name]; ok {
						if tb, ok := typeOwner[ip+"."+n.Sel.Name]; ok && tb.owner != f.owner {
							report(n, tb, "its model type "+id.Name+"."+n.Sel.Name)
						}
					}
				}
			case *ast.BasicLit:
				s, ok := stringLit(n)
				if !ok {
					return true
				}
				method, isArg := sqlArgs[n]
				if method == "Table" {
					first, _, _ := strings.Cut(strings.TrimSpace(s), " ")
					if tb, bad := foreign(f, strings.Trim(first, "\"`")); bad {
						report(n, tb, fmt.Sprintf("Table(%q)", s))
					}
					return true
				}
				if !isArg && !reSQLStart.MatchString(s) {
					return true // prose, not SQL
				}
				for _, m := range reSQLTable.FindAllStringSubmatch(s, -1) {
					if tb, bad := foreign(f, m[1]); bad {
						report(n, tb, strings.TrimSpace(m[0]))
					}
				}
			}
			return true
		})
	}
	slices.Sort(violations)
	return violations
}

// checkDatabaseOwnership reports module code that opens a database other
// than through platform/db (gorm.Open, sql.Open: any DSN at all), that
// opens one through db.Open without naming it in a db.Options literal (whose
// database, then?), or that names another module's database: its name in
// db.Options, its SQLite file, its DSN or DB in the configuration. The host
// opens each module's database and hands it in; a module may open a store
// of its own besides (payments' sandbox bank). Test code is exempt: it opens
// throwaway databases (platform/db/dbtest), also for stand-ins of other
// modules.
func checkDatabaseOwnership(t *sourceTree) []string {
	platformDB := t.root + "/platform/db"
	rawOpeners := map[string]bool{"gorm.io/gorm": true, "database/sql": true}
	var violations []string
	for _, f := range t.files {
		if !t.isModule(f.owner) || f.test {
			continue
		}
		bad := func(n ast.Node, format string, args ...any) {
			violations = append(violations, fmt.Sprintf("%s: %s ", f.at(n), f.owner)+fmt.Sprintf(format, args...))
		}
		// otherModule is the module expr names, if not f's own: "payments"
		// or payments.Module (any selector of a module's package).
		otherModule := func(e ast.Expr) string {
			if s, ok := stringLit(e); ok && t.isModule(s) && s != f.owner {
				return s
			}
			if sel, ok := e.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok {
					if m := t.moduleOfImport(f.imports[id.Name]); m != "" && m != f.owner {
						return m
					}
				}
			}
			return ""
		}
		ast.Inspect(f.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Open" {
					return true
				}
				id, ok := sel.X.(*ast.Ident)
				switch {
				case !ok:
				case rawOpeners[f.imports[id.Name]]:
					bad(n, "opens a database with %s.Open: the host opens each module's database and hands it in (a store of its own goes through db.Open)", id.Name)
				case f.imports[id.Name] == platformDB && (len(n.Args) < 2 || !isDBOptions(f, n.Args[1], platformDB)):
					bad(n, "opens a database with db.Open without a db.Options literal naming it")
				}
			case *ast.CompositeLit:
				if !isDBOptions(f, n, platformDB) {
					return true
				}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Module" {
							if m := otherModule(kv.Value); m != "" {
								bad(n, "names the database of module %s (db.Options.Module)", m)
							}
						}
					}
				}
			case *ast.SelectorExpr:
				// cfg.Modules["payments"].DSN
				if ix, ok := n.X.(*ast.IndexExpr); ok && (n.Sel.Name == "DSN" || n.Sel.Name == "DB") {
					if m := otherModule(ix.Index); m != "" {
						bad(n, "reads the %s of module %s", n.Sel.Name, m)
					}
				}
			case *ast.BasicLit:
				if s, ok := stringLit(n); ok {
					for _, m := range t.modules {
						if m != f.owner && (s == m+".db" || strings.HasSuffix(s, "/"+m+".db")) {
							bad(n, "names the database file of module %s (%q)", m, s)
						}
					}
				}
			}
			return true
		})
	}
	slices.Sort(violations)
	return violations
}

// isDBOptions tells whether e is a db.Options{...} literal (or its address).
func isDBOptions(f *sourceFile, e ast.Expr, platformDB string) bool {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return false
	}
	sel, ok := cl.Type.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Options" {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && f.imports[id.Name] == platformDB
}

// reStructTagValue finds the values of a struct tag (`json:"x" yaml:"y"`).
var reStructTagValue = regexp.MustCompile(`\w+:"([^"]*)"`)

// checkPlatformNamesNoModule reports platform/ non-test code that imports a
// module or uses a module's name as an identifier: a string literal (or a
// struct tag value) that is the name, or the name followed by '.', ':', '_'
// or '/' and more of an identifier ("search", "auth.sign_in_rate_limit",
// "bookings:read"). Prose ("searching hotels", "search by city") is left
// alone.
func checkPlatformNamesNoModule(t *sourceTree) []string {
	var violations []string
	names := func(s string) string {
		if strings.ContainsAny(s, " \t\n") {
			return ""
		}
		for _, m := range t.modules {
			if s == m {
				return m
			}
			if rest, ok := strings.CutPrefix(s, m); ok && strings.ContainsRune(".:_/", rune(rest[0])) && len(rest) > 1 {
				return m
			}
		}
		return ""
	}
	for _, f := range t.files {
		if f.owner != ownerPlatform || f.test {
			continue
		}
		for _, imp := range f.file.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if m := t.moduleOfImport(ip); m != "" {
				violations = append(violations, fmt.Sprintf("%s: platform imports module %s (%s)", f.at(imp), m, ip))
			}
		}
		ast.Inspect(f.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ImportSpec:
				return false
			case *ast.Field:
				if n.Tag != nil {
					tag, _ := strconv.Unquote(n.Tag.Value)
					for _, m := range reStructTagValue.FindAllStringSubmatch(tag, -1) {
						v, _, _ := strings.Cut(m[1], ",")
						if mod := names(v); mod != "" {
							violations = append(violations, fmt.Sprintf("%s: platform names module %s (struct tag %s)", f.at(n.Tag), mod, m[0]))
						}
					}
				}
			case *ast.BasicLit:
				if s, ok := stringLit(n); ok {
					if mod := names(s); mod != "" {
						violations = append(violations, fmt.Sprintf("%s: platform names module %s (%q)", f.at(n), mod, s))
					}
				}
			}
			return true
		})
	}
	slices.Sort(violations)
	return violations
}
